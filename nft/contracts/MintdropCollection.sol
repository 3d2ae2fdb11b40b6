// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";

/// @title MintdropCollection
/// @notice ERC-721 collection of one merchant's NFTs sold through mintdrop.
/// Each token is minted for exactly one order line: the contract refuses a second mint for the
/// same line id (and ERC-721 refuses a second mint of the same token id), so a re-sent or
/// duplicated transaction can never create a second token for a line.
contract MintdropCollection is ERC721, ERC2981, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Whether the order line `lineId` already has its token.
    mapping(uint256 lineId => bool) public lineMinted;
    /// @notice The token minted for an order line (only meaningful when lineMinted is true).
    mapping(uint256 lineId => uint256) public tokenOfLine;
    /// @notice Number of tokens ever minted by this collection.
    uint256 public totalMinted;

    string private _baseTokenURI;

    error LineAlreadyMinted(uint256 lineId);

    event LineMinted(uint256 indexed lineId, uint256 indexed tokenId, address indexed to);
    event BaseURIChanged(string baseURI);

    constructor(
        string memory name_,
        string memory symbol_,
        string memory baseURI_,
        address admin,
        address minter,
        address royaltyReceiver,
        uint96 royaltyBps
    ) ERC721(name_, symbol_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
        _setDefaultRoyalty(royaltyReceiver, royaltyBps);
        _baseTokenURI = baseURI_;
    }

    /// @notice Mint token `tokenId` to `to` for order line `lineId`; reverts if the line has a token.
    function mintForLine(address to, uint256 lineId, uint256 tokenId) external onlyRole(MINTER_ROLE) {
        if (lineMinted[lineId]) revert LineAlreadyMinted(lineId);
        lineMinted[lineId] = true;
        tokenOfLine[lineId] = tokenId;
        unchecked {
            totalMinted += 1;
        }
        _safeMint(to, tokenId);
        emit LineMinted(lineId, tokenId, to);
    }

    /// @notice Change the prefix of every token URI (token URI = base URI + token id).
    function setBaseURI(string calldata baseURI_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _baseTokenURI = baseURI_;
        emit BaseURIChanged(baseURI_);
    }

    /// @notice Change the ERC-2981 royalty paid on secondary sales of every token.
    function setDefaultRoyalty(address receiver, uint96 royaltyBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultRoyalty(receiver, royaltyBps);
    }

    function _baseURI() internal view override returns (string memory) {
        return _baseTokenURI;
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, ERC2981, AccessControl)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
