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
/// Phygital tokens are redeemed once for their physical item: the current owner (or an address it
/// approved) calls `redeem`; the token stays transferable, its redemption is public forever.
contract MintdropCollection is ERC721, ERC2981, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Whether the order line `lineId` already has its token.
    mapping(uint256 lineId => bool) public lineMinted;
    /// @notice The token minted for an order line (only meaningful when lineMinted is true).
    mapping(uint256 lineId => uint256) public tokenOfLine;
    /// @notice Number of tokens ever minted by this collection.
    uint256 public totalMinted;

    /// @notice Whether token `tokenId` was redeemed for its physical item (see `isRedeemed`).
    mapping(uint256 tokenId => bool) private _redeemed;

    string private _baseTokenURI;

    error LineAlreadyMinted(uint256 lineId);
    error AlreadyRedeemed(uint256 tokenId);

    event LineMinted(uint256 indexed lineId, uint256 indexed tokenId, address indexed to);
    event BaseURIChanged(string baseURI);
    event Redeemed(uint256 indexed tokenId, address indexed owner, address indexed by);

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

    /// @notice Redeem token `tokenId` for its physical item; only its owner or an approved address, once.
    function redeem(uint256 tokenId) external {
        address owner = _requireOwned(tokenId);
        _checkAuthorized(owner, _msgSender(), tokenId);
        if (_redeemed[tokenId]) revert AlreadyRedeemed(tokenId);
        _redeemed[tokenId] = true;
        emit Redeemed(tokenId, owner, _msgSender());
    }

    /// @notice Whether `tokenId` was redeemed; reverts for a token that does not exist.
    function isRedeemed(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return _redeemed[tokenId];
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
